// Speech-to-text on Azure Functions Flex Consumption, keyless end to end: one user-assigned
// identity, Entra ID RBAC on every data plane, no account keys or connection secrets.
// Deployed by `azd up` (main.parameters.json) or `az deployment sub create`; see README.md, "Deploy".
targetScope = 'subscription'

@minLength(1)
@maxLength(64)
@description('azd environment name; seeds the resource token and the azd-env-name tag.')
param environmentName string

@minLength(1)
@description('Region for every resource; it must offer Flex Consumption and Speech.')
@metadata({
  azd: {
    type: 'location'
  }
})
param location string

@description('Object ID of the deploying user. When set, that user gets the app\'s data-plane roles (for local runs and uploads); leave empty in CI.')
param principalId string = ''

@description('Kind of principal principalId is: a person, or the service principal a pipeline signs in as.')
@allowed([
  'User'
  'ServicePrincipal'
])
param principalType string = 'User'

@description('Recognition language for Speech (BCP-47).')
param speechLanguage string = 'en-US'

@description('Container the blob trigger watches for new audio.')
param inputContainerName string = 'audio-in'

@description('Container transcripts are written to.')
param outputContainerName string = 'transcripts'

@description('Queue that gets a message when a transcription job ends (COMPLETION_QUEUE).')
param completionQueueName string = 'transcription-completions'

@description('Memory per Flex instance; 2048 leaves room to decode long audio.')
@allowed([
  512
  2048
  4096
])
param instanceMemoryMB int = 2048

@description('Upper bound on Flex scale-out; also the cap on concurrent Speech sessions and spend.')
@minValue(1)
@maxValue(1000)
param maximumInstanceCount int = 40

var abbrs = loadJsonContent('abbreviations.json')
var resourceToken = toLower(uniqueString(subscription().id, environmentName, location))
var tags = {
  'azd-env-name': environmentName
}
// The account is dedicated to this app, so a fixed container name is unambiguous.
var deploymentContainerName = 'app-package'

resource rg 'Microsoft.Resources/resourceGroups@2024-03-01' = {
  name: '${abbrs.resourcesResourceGroups}${environmentName}'
  location: location
  tags: tags
}

module identity 'app/identity.bicep' = {
  name: 'identity'
  scope: rg
  params: {
    name: '${abbrs.managedIdentityUserAssignedIdentities}${resourceToken}'
    location: location
    tags: tags
  }
}

module storage 'app/storage.bicep' = {
  name: 'storage'
  scope: rg
  params: {
    name: '${abbrs.storageStorageAccounts}${resourceToken}'
    location: location
    tags: tags
    containerNames: [
      inputContainerName
      outputContainerName
      deploymentContainerName
    ]
    queueNames: [
      completionQueueName
    ]
  }
}

module speech 'app/speech.bicep' = {
  name: 'speech'
  scope: rg
  params: {
    name: '${abbrs.cognitiveServicesSpeech}${resourceToken}'
    location: location
    tags: tags
  }
}

module monitoring 'app/monitoring.bicep' = {
  name: 'monitoring'
  scope: rg
  params: {
    logAnalyticsName: '${abbrs.operationalInsightsWorkspaces}${resourceToken}'
    applicationInsightsName: '${abbrs.insightsComponents}${resourceToken}'
    location: location
    tags: tags
  }
}

module rbac 'app/rbac.bicep' = {
  name: 'rbac'
  scope: rg
  params: {
    storageAccountName: storage.outputs.name
    speechAccountName: speech.outputs.name
    applicationInsightsName: monitoring.outputs.applicationInsightsName
    identityPrincipalId: identity.outputs.principalId
    userPrincipalId: principalId
    userPrincipalType: principalType
  }
}

module functionApp 'app/function.bicep' = {
  name: 'function'
  scope: rg
  params: {
    name: '${abbrs.webSitesFunctions}${resourceToken}'
    planName: '${abbrs.webServerFarms}${resourceToken}'
    location: location
    tags: tags
    identityId: identity.outputs.id
    identityClientId: identity.outputs.clientId
    storageAccountName: storage.outputs.name
    deploymentContainerName: deploymentContainerName
    inputContainerName: inputContainerName
    outputContainerName: outputContainerName
    completionQueueName: completionQueueName
    speechEndpoint: speech.outputs.endpoint
    speechLanguage: speechLanguage
    applicationInsightsConnectionString: monitoring.outputs.connectionString
    instanceMemoryMB: instanceMemoryMB
    maximumInstanceCount: maximumInstanceCount
  }
  // The host's first start should find its storage roles already granted, not retry
  // against 403s until they land.
  dependsOn: [
    rbac
  ]
}

module eventGrid 'app/eventgrid.bicep' = {
  name: 'eventgrid'
  scope: rg
  params: {
    name: '${abbrs.eventGridSystemTopics}${resourceToken}'
    location: location
    tags: tags
    storageAccountName: storage.outputs.name
  }
}

// Read by azd (into the environment) and by scripts/post-deploy.sh.
output AZURE_LOCATION string = location
output AZURE_TENANT_ID string = tenant().tenantId
output RESOURCE_GROUP string = rg.name
output AZURE_FUNCTION_APP_NAME string = functionApp.outputs.name
output STORAGE_ACCOUNT_NAME string = storage.outputs.name
output EVENT_GRID_SYSTEM_TOPIC_NAME string = eventGrid.outputs.name
output INPUT_CONTAINER string = inputContainerName
output COMPLETION_QUEUE string = completionQueueName
output OUTPUT_CONTAINER string = outputContainerName
output SPEECH_ENDPOINT string = speech.outputs.endpoint
