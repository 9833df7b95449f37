// The storage account's Event Grid system topic. The blob trigger uses the Event Grid
// source (not polling), so new audio reaches the app in seconds and an idle app costs
// no storage scans. Only the topic is created here: its subscription points at the
// blob extension's webhook, whose `blobs_extension` key exists only after the code is
// deployed, so scripts/post-deploy.sh creates it.

param name string
param location string
param tags object
param storageAccountName string

resource storage 'Microsoft.Storage/storageAccounts@2024-01-01' existing = {
  name: storageAccountName
}

resource topic 'Microsoft.EventGrid/systemTopics@2025-02-15' = {
  name: name
  // A system topic must live in its source's region; the caller passes the account's.
  location: location
  tags: tags
  properties: {
    source: storage.id
    topicType: 'Microsoft.Storage.StorageAccounts'
  }
}

output name string = topic.name
