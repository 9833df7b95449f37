// Data-plane roles that replace every key and connection string. Each is scoped to the one
// resource it is for, never to the resource group, so the identity can touch nothing else.
// The deploying user (principalId) optionally gets the same roles, for running the app
// locally against the cloud resources and for `az storage blob upload --auth-mode login`.

param storageAccountName string
param speechAccountName string
param applicationInsightsName string

@description('Principal ID of the function app\'s user-assigned identity.')
param identityPrincipalId string

@description('Principal ID of the Speech resource\'s system-assigned identity (batch transcription reads recordings with it).')
param speechPrincipalId string

@description('Object ID of the deploying user; empty means no user assignments.')
param userPrincipalId string = ''

@description('User for a person; ServicePrincipal when a pipeline deploys with azd.')
@allowed([
  'User'
  'ServicePrincipal'
])
param userPrincipalType string = 'User'

// Storage Blob Data Owner: the role the Functions docs name for identity-based host storage
// (host keys, leases, blob-trigger receipts); it also covers the app's audio and transcripts.
var storageBlobDataOwnerRoleId = 'b7e6dc6d-f1e8-4753-8033-0f276bb0955b'
// Storage Queue Data Contributor: the blob trigger's poison-message queue and host queues.
var storageQueueDataContributorRoleId = '974c5e8b-45b9-4653-ba55-5f855dd0fb88'
// Cognitive Services Speech User: speech-to-text with an Entra token, but cannot list keys.
var speechUserRoleId = 'f2dc8367-1007-4938-bd23-fe263f013447'
// Storage Blob Data Reader: the Speech resource reads batch recordings by URL, and can write nothing.
var storageBlobDataReaderRoleId = '2a2b9908-6ea1-4ae2-8e65-a410df84e7d1'
// Monitoring Metrics Publisher: lets the identity send telemetry once App Insights local auth is off.
var monitoringMetricsPublisherRoleId = '3913510d-42f4-4e42-8a64-420c390055eb'

// The app's identity always; the user only when given. Looping over this list keeps the
// user's grants identical to the app's instead of a hand-copied second set.
var appPrincipals = [
  {
    id: identityPrincipalId
    type: 'ServicePrincipal'
  }
]
var userPrincipals = empty(userPrincipalId) ? [] : [
  {
    id: userPrincipalId
    type: userPrincipalType
  }
]
var principals = concat(appPrincipals, userPrincipals)

resource storage 'Microsoft.Storage/storageAccounts@2024-01-01' existing = {
  name: storageAccountName
}

resource speech 'Microsoft.CognitiveServices/accounts@2024-10-01' existing = {
  name: speechAccountName
}

resource appInsights 'Microsoft.Insights/components@2020-02-02' existing = {
  name: applicationInsightsName
}

resource blobDataOwner 'Microsoft.Authorization/roleAssignments@2022-04-01' = [
  for principal in principals: {
    name: guid(storage.id, principal.id, storageBlobDataOwnerRoleId)
    scope: storage
    properties: {
      roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', storageBlobDataOwnerRoleId)
      principalId: principal.id
      principalType: principal.type
    }
  }
]

resource queueDataContributor 'Microsoft.Authorization/roleAssignments@2022-04-01' = [
  for principal in principals: {
    name: guid(storage.id, principal.id, storageQueueDataContributorRoleId)
    scope: storage
    properties: {
      roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', storageQueueDataContributorRoleId)
      principalId: principal.id
      principalType: principal.type
    }
  }
]

resource speechUser 'Microsoft.Authorization/roleAssignments@2022-04-01' = [
  for principal in principals: {
    name: guid(speech.id, principal.id, speechUserRoleId)
    scope: speech
    properties: {
      roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', speechUserRoleId)
      principalId: principal.id
      principalType: principal.type
    }
  }
]

resource metricsPublisher 'Microsoft.Authorization/roleAssignments@2022-04-01' = [
  for principal in principals: {
    name: guid(appInsights.id, principal.id, monitoringMetricsPublisherRoleId)
    scope: appInsights
    properties: {
      roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', monitoringMetricsPublisherRoleId)
      principalId: principal.id
      principalType: principal.type
    }
  }
]

// Not the app's: the Speech resource's own identity, read access only, on the one account.
resource speechBlobReader 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(storage.id, speechPrincipalId, storageBlobDataReaderRoleId)
  scope: storage
  properties: {
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', storageBlobDataReaderRoleId)
    principalId: speechPrincipalId
    principalType: 'ServicePrincipal'
  }
}
