// One StorageV2 account holds the Functions host state, the deployment package and the
// app's data (audio in, transcripts out). Shared keys are off: every caller, the
// host included, authenticates with Entra ID, so there is no connection string to leak.

@description('Globally unique, 3-24 lowercase letters and digits.')
@minLength(3)
@maxLength(24)
param name string
param location string
param tags object

@description('Blob containers to create (input audio, transcripts, deployment package).')
param containerNames array

@description('Storage queues to create (job-completion messages).')
param queueNames array = []

@description('Resources whose system-assigned identity may pass the account\'s firewall (resource-instance rules): the Speech resource, which reads batch recordings.')
param trustedResourceIds array = []

@description('Days a deleted blob stays recoverable; short, because audio is re-uploadable.')
@minValue(1)
@maxValue(365)
param deleteRetentionDays int = 7

resource storage 'Microsoft.Storage/storageAccounts@2024-01-01' = {
  name: name
  location: location
  tags: tags
  kind: 'StorageV2'
  sku: {
    // LRS: the data is a work queue (audio in, text out), not a system of record.
    name: 'Standard_LRS'
  }
  properties: {
    accessTier: 'Hot'
    allowBlobPublicAccess: false
    allowSharedKeyAccess: false
    allowCrossTenantReplication: false
    // The portal and CLI then default to Entra ID instead of asking for a key that no longer works.
    defaultToOAuthAuthentication: true
    minimumTlsVersion: 'TLS1_2'
    supportsHttpsTrafficOnly: true
    // No VNet in this template: the Flex app and Event Grid reach the account over its
    // public endpoint, and Entra ID RBAC is the access control (see .checkov.yaml).
    publicNetworkAccess: 'Enabled'
    networkAcls: {
      defaultAction: 'Allow'
      bypass: 'AzureServices'
      // Batch transcription reads recordings as a trusted service only through such a rule (still needed
      // once defaultAction is Deny; harmless while it is Allow).
      resourceAccessRules: [
        for resourceId in trustedResourceIds: {
          tenantId: tenant().tenantId
          resourceId: resourceId
        }
      ]
    }
  }
}

resource blobService 'Microsoft.Storage/storageAccounts/blobServices@2024-01-01' = {
  parent: storage
  name: 'default'
  properties: {
    deleteRetentionPolicy: {
      enabled: true
      days: deleteRetentionDays
    }
    containerDeleteRetentionPolicy: {
      enabled: true
      days: deleteRetentionDays
    }
  }
}

resource containers 'Microsoft.Storage/storageAccounts/blobServices/containers@2024-01-01' = [
  for containerName in containerNames: {
    parent: blobService
    name: containerName
    properties: {
      publicAccess: 'None'
    }
  }
]

resource queueService 'Microsoft.Storage/storageAccounts/queueServices@2024-01-01' = {
  parent: storage
  name: 'default'
}

resource queues 'Microsoft.Storage/storageAccounts/queueServices/queues@2024-01-01' = [
  for queueName in queueNames: {
    parent: queueService
    name: queueName
  }
]

output id string = storage.id
output name string = storage.name
